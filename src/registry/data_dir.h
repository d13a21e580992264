// Where the registry lives and where request paths may point.
//
// Data directory, in order: the --data-dir flag, env LOAM_DATA_DIR, env
// LOAM_HOME, ~/.loam. Bucket root (gs://bucket/... maps onto it): env
// LOAM_BUCKET_ROOT, else <data dir>/buckets. Artifacts live under the data
// directory by id: models/<id>/, datasets/<id>, jobs/<id>/.
#pragma once

#include <string>
#include <vector>

namespace loam {

std::string data_dir_resolve(const std::string& flag);
std::string bucket_root_for(const std::string& data_dir);

// A location in a request (path, file:// or gs:// URI) as an absolute local
// path, refusing it unless it lies under one of `roots` once symlinks are
// resolved (a symlink out, "..", /etc/passwd: PermissionDenied naming
// `field`). A path that does not exist yet is checked through its parent.
std::string path_confine(const std::string& location, const std::string& bucket_root,
                         const std::vector<std::string>& roots, const std::string& field);

// Hard-links `from` to `to` (same file system), else copies it.
void file_link_or_copy(const std::string& from, const std::string& to);
void dir_make_all(const std::string& path);
void dir_remove_all(const std::string& path);

}  // namespace loam
