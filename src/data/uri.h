// Dataset locations: local paths, file:// URIs, and gs://bucket/path, which
// maps onto a local bucket root so scripts written for a cloud service run
// unchanged (DESIGN.md).
//
// The bucket root is, in order: the explicit argument (--bucket-root), env
// LOAM_BUCKET_ROOT, else $LOAM_HOME/buckets with LOAM_HOME defaulting to
// ~/.loam. gs://bucket/a/b -> <root>/bucket/a/b. Other schemes, empty
// bucket names and ".." segments throw Error naming the URI.
#pragma once

#include <string>

namespace loam {

std::string bucket_root_default();  // env lookups as above
std::string uri_resolve(const std::string& uri, const std::string& bucket_root = "");

}  // namespace loam
