// OpenAI-compatible fine-tuning over the same jobs and registry: files
// (uploaded datasets) and fine_tuning.jobs in OpenAI's shapes. Job ids are
// "ftjob-<job id>", file ids the dataset ids ("file-<digits>").
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "serve/control_api.h"

namespace loam {

nlohmann::json openai_file_upload(ControlContext& c, const std::string& filename, const std::string& purpose,
                                  const std::string& content);
nlohmann::json openai_files_list(ControlContext& c);
nlohmann::json openai_file_get(ControlContext& c, const std::string& id);
std::string openai_file_content(ControlContext& c, const std::string& id);
nlohmann::json openai_file_delete(ControlContext& c, const std::string& id);

nlohmann::json openai_job_create(ControlContext& c, const nlohmann::json& body);
nlohmann::json openai_jobs_list(ControlContext& c, const std::string& after, int limit);
nlohmann::json openai_job_get(ControlContext& c, const std::string& id);
nlohmann::json openai_job_action(ControlContext& c, const std::string& id, const std::string& action);
nlohmann::json openai_job_events(ControlContext& c, const std::string& id, int limit);
nlohmann::json openai_job_checkpoints(ControlContext& c, const std::string& id);

}  // namespace loam
