# loam_console_assets(<target>): compiles web/dist (the built console) into
# <target>. The glob is re-checked at every build, so building the web files
# (scripts/build-web.sh) after configuring is picked up.
function(loam_console_assets target)
  set(dist "${PROJECT_SOURCE_DIR}/web/dist")
  file(GLOB_RECURSE files CONFIGURE_DEPENDS "${dist}/*")
  set(out "${CMAKE_BINARY_DIR}/generated/console_assets.cpp")
  add_custom_command(OUTPUT "${out}"
    COMMAND ${CMAKE_COMMAND} -DDIST=${dist} -DOUT=${out} -P "${PROJECT_SOURCE_DIR}/cmake/embed_console.cmake"
    DEPENDS ${files} "${PROJECT_SOURCE_DIR}/cmake/embed_console.cmake"
    COMMENT "Embedding the web console (web/dist)")
  target_sources(${target} PRIVATE "${out}")
endfunction()
