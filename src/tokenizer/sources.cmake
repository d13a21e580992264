file(GLOB LOAM_TOKENIZER_SOURCES CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/*.cpp)
# ICU: Unicode normal forms (NFC/NFKC/...), lowercase and character properties.
pkg_check_modules(ICU REQUIRED IMPORTED_TARGET icu-uc)
loam_layer(tokenizer
  SOURCES ${LOAM_TOKENIZER_SOURCES}
  LAYERS core kernels tokenizer
  LIBS loam_kernels PkgConfig::PCRE2 PkgConfig::ICU)
