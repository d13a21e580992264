file(GLOB LOAM_TOKENIZER_SOURCES CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/*.cpp)
loam_layer(tokenizer
  SOURCES ${LOAM_TOKENIZER_SOURCES}
  LAYERS core kernels tokenizer
  LIBS loam_kernels PkgConfig::PCRE2)
