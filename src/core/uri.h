// Where Loam keeps things, and dataset locations: local paths, file:// URIs,
// and gs://bucket/path, which maps onto a local bucket root so scripts
// written for a cloud service run unchanged (DESIGN.md).
//
// loam_home(): env LOAM_HOME, else $HOME/.loam ("./.loam" without HOME).
// data_dir_default(): env LOAM_DATA_DIR, else loam_home() (the registry's
// database, models, jobs).
//
// The bucket root is, in order: the explicit argument (--bucket-root), env
// LOAM_BUCKET_ROOT, else $LOAM_HOME/buckets with LOAM_HOME defaulting to
// ~/.loam. gs://bucket/a/b -> <root>/bucket/a/b. Other schemes, empty
// bucket names and ".." segments throw Error naming the URI.
#pragma once

#include <string>

namespace loam {

std::string loam_home();
std::string data_dir_default();
std::string bucket_root_default();  // env lookups as above
std::string uri_resolve(const std::string& uri, const std::string& bucket_root = "");

}  // namespace loam
