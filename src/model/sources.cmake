file(GLOB LOAM_MODEL_SOURCES CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/*.cpp
     ${CMAKE_CURRENT_LIST_DIR}/arch/*.cpp)
loam_layer(model
  SOURCES ${LOAM_MODEL_SOURCES}
  LAYERS core kernels formats tokenizer model
  LIBS loam_formats loam_tokenizer)
