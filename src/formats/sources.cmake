file(GLOB LOAM_FORMATS_SOURCES CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/*.cpp)
loam_layer(formats
  SOURCES ${LOAM_FORMATS_SOURCES}
  LAYERS core kernels formats
  LIBS loam_kernels)
