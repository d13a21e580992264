# Layering (DESIGN.md): core <- kernels <- formats, tokenizer <- model <- data
# <- train, eval <- registry <- jobs <- serve <- cli.
#
# Each layer is its own library. A target sees only the headers of the layers
# it may use: its include root is a generated folder holding links to those
# layers alone, so `#include "serve/http.h"` from model/ fails to compile.

set(LOAM_LAYER_ORDER core kernels formats tokenizer model data train eval registry jobs serve cli)

# loam_layer_includes(<target> <layer>...) gives <target> an include root
# that exposes exactly the listed layers (as "<layer>/header.h").
function(loam_layer_includes target)
  set(root "${CMAKE_BINARY_DIR}/include-roots/${target}")
  file(MAKE_DIRECTORY "${root}")
  foreach(layer IN LISTS ARGN)
    if(NOT EXISTS "${root}/${layer}")
      file(CREATE_LINK "${PROJECT_SOURCE_DIR}/src/${layer}" "${root}/${layer}" SYMBOLIC)
    endif()
  endforeach()
  target_include_directories(${target} PRIVATE "${root}")
endfunction()

# loam_layer(<name> SOURCES ... LAYERS <visible layers> LIBS <link libs>)
# Defines library loam_<name>; LAYERS lists every layer it may include
# (itself included); LIBS are what it links (other loam_* and externals).
function(loam_layer name)
  cmake_parse_arguments(L "" "" "SOURCES;LAYERS;LIBS" ${ARGN})
  if(NOT L_SOURCES)  # a layer not written yet still links
    set(stub "${CMAKE_BINARY_DIR}/layer-stubs/${name}.cpp")
    file(WRITE "${stub}" "// empty layer\n")
    set(L_SOURCES "${stub}")
  endif()
  add_library(loam_${name} STATIC ${L_SOURCES})
  loam_layer_includes(loam_${name} ${L_LAYERS})
  target_link_libraries(loam_${name} PUBLIC ${L_LIBS})
  set_property(TARGET loam_${name} PROPERTY LOAM_LAYERS "${L_LAYERS}")
endfunction()
