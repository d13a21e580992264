file(GLOB LOAM_CORE_SOURCES CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/*.cpp)
loam_layer(core
  SOURCES ${LOAM_CORE_SOURCES}
  LAYERS core
  LIBS nlohmann_json::nlohmann_json Threads::Threads)
