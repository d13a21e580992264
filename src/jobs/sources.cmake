# The job runner: a worker process per job, claiming, heartbeats,
# cancel/pause, resume from checkpoints.
file(GLOB LOAM_JOBS_SOURCES CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/*.cpp)
loam_layer(jobs
  SOURCES ${LOAM_JOBS_SOURCES}
  LAYERS core kernels formats tokenizer model data train eval registry jobs
  LIBS loam_registry)
