# The store behind one narrow interface (SQLite by default): catalog, models,
# datasets, jobs, events, metrics, evaluations, endpoints.
file(GLOB LOAM_REGISTRY_SOURCES CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/*.cpp)
loam_layer(registry
  SOURCES ${LOAM_REGISTRY_SOURCES}
  LAYERS core kernels formats tokenizer model data train eval registry
  LIBS loam_train loam_eval SQLite::SQLite3 OpenSSL::Crypto)
