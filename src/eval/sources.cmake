file(GLOB LOAM_EVAL_SOURCES CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/*.cpp)
loam_layer(eval
  SOURCES ${LOAM_EVAL_SOURCES}
  LAYERS core kernels formats tokenizer model data eval
  LIBS loam_data loam_model)
