file(GLOB LOAM_DATA_SOURCES CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/*.cpp)
loam_layer(data
  SOURCES ${LOAM_DATA_SOURCES}
  LAYERS core kernels formats tokenizer data
  LIBS loam_tokenizer)
