# The store behind one narrow interface (SQLite by default): catalog, models,
# datasets, jobs, events, metrics, evaluations, endpoints.
file(GLOB LOAM_REGISTRY_SOURCES CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/*.cpp)

# The model-garden catalog is compiled in (registry/catalog.h: catalog_builtin),
# so an installed `loam` needs no data files; editing the JSON reconfigures.
set(LOAM_CATALOG_JSON ${PROJECT_SOURCE_DIR}/catalog/models.json)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${LOAM_CATALOG_JSON})
file(READ ${LOAM_CATALOG_JSON} LOAM_CATALOG_TEXT)
file(CONFIGURE OUTPUT ${CMAKE_BINARY_DIR}/generated/catalog_data.cpp
     CONTENT "// Generated from catalog/models.json by src/registry/sources.cmake.\nnamespace loam {\nextern const char* const kCatalogBuiltinJson;\nconst char* const kCatalogBuiltinJson = R\"loamcatalog(${LOAM_CATALOG_TEXT})loamcatalog\";\n}  // namespace loam\n")

# libcurl (Debian libcurl4-openssl-dev) and OpenSSL's libcrypto (libssl-dev:
# SHA-256, git blob SHA-1) for `loam models pull` (registry/hf_pull.h); only
# this layer links them.
pkg_check_modules(CURL REQUIRED IMPORTED_TARGET libcurl)
pkg_check_modules(LIBCRYPTO REQUIRED IMPORTED_TARGET libcrypto)

loam_layer(registry
  SOURCES ${LOAM_REGISTRY_SOURCES} ${CMAKE_BINARY_DIR}/generated/catalog_data.cpp
  LAYERS core kernels formats tokenizer model data train eval registry
  LIBS loam_train loam_eval PkgConfig::CURL PkgConfig::LIBCRYPTO SQLite::SQLite3 OpenSSL::Crypto)
