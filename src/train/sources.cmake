file(GLOB LOAM_TRAIN_SOURCES CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/*.cpp)
loam_layer(train
  SOURCES ${LOAM_TRAIN_SOURCES}
  LAYERS core kernels formats tokenizer model data train
  LIBS loam_data loam_model OpenSSL::Crypto MPI::MPI_C)
