# The `loam` binary. Each subcommand group lives in its own cli/<group>.cpp
# and registers itself from main.cpp.
file(GLOB LOAM_CLI_SOURCES CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/*.cpp)
add_executable(loam ${LOAM_CLI_SOURCES})
loam_layer_includes(loam core kernels formats tokenizer model data train eval registry jobs serve cli)
target_link_libraries(loam PRIVATE loam_serve CLI11::CLI11 PkgConfig::HTTPLIB)
set_target_properties(loam PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR})
