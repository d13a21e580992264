file(GLOB LOAM_TOKENIZER_SOURCES CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/*.cpp
     ${CMAKE_CURRENT_LIST_DIR}/jinja/*.cpp)
# ICU: Unicode normal forms (NFC/NFKC/...), lowercase and character properties.
pkg_check_modules(ICU REQUIRED IMPORTED_TARGET icu-uc)
# formats: model_text reads a GGUF file's tokenizer metadata.
loam_layer(tokenizer
  SOURCES ${LOAM_TOKENIZER_SOURCES}
  LAYERS core kernels formats tokenizer
  LIBS loam_formats PkgConfig::PCRE2 PkgConfig::ICU)
