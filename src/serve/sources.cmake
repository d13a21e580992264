# HTTP server and REST routes (managed-service, OpenAI, generateContent).
file(GLOB LOAM_SERVE_SOURCES CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/*.cpp)
loam_layer(serve
  SOURCES ${LOAM_SERVE_SOURCES}
  LAYERS core kernels formats tokenizer model data train eval registry jobs serve
  LIBS loam_jobs PkgConfig::HTTPLIB)
# The web console's built files (web/dist), compiled in.
include(${PROJECT_SOURCE_DIR}/cmake/console_assets.cmake)
loam_console_assets(loam_serve)
