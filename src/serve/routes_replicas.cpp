// GET /v1/inference/replicas: every served base's replica pool (bounds,
// queue, each replica's process, state and running requests) and the
// latest replica events (started, ready, scaled_up, scaled_down, crashed,
// restarted, failed_to_start, stopped), oldest first.
#include <httplib.h>

#include "serve/infer_replica.h"
#include "serve/routes.h"

namespace loam {

using nlohmann::json;

void routes_replicas_add(Router& r, ControlContext& c) {
  r.add_json("GET", "/v1/inference/replicas", [&c](const httplib::Request&, const PathParams&) {
    json bases = json::array(), events = json::array();
    if (c.engine) {
      for (const ReplicaPoolInfo& p : c.engine->replicas()) {
        json reps = json::array();
        for (const ReplicaInfo& x : p.replicas)
          reps.push_back({{"replica", x.replica}, {"pid", x.pid}, {"state", x.state}, {"running", x.running},
                          {"threads", x.threads}, {"startTime", x.start_time}});
        bases.push_back({{"base", p.base}, {"minReplicaCount", p.min_replicas}, {"maxReplicaCount", p.max_replicas},
                         {"queued", p.queued}, {"replicas", reps}});
      }
      for (const ReplicaEvent& e : c.engine->replica_events()) events.push_back(replica_event_json(e));
    }
    return json{{"bases", bases}, {"events", events}};
  });
}

}  // namespace loam
