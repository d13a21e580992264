// ReplicaPool's handling of a replica that never becomes ready, with a
// stand-in replica program (a script that sleeps instead of loading).
#include "serve/infer_replica.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>
#include <vector>

namespace loam {
namespace {

namespace fs = std::filesystem;

TEST(ReplicaPool, AReplicaThatNeverGetsReadyIsKilledAndStartedAgain) {
  const fs::path dir = fs::temp_directory_path() / ("loam-pool-test-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const fs::path fake = dir / "hangs";
  {
    std::ofstream f(fake);
    f << "#!/bin/sh\nexec sleep 600\n";
  }
  fs::permissions(fake, fs::perms::owner_all);
  InferSettings s;
  s.replica_binary = fake.string();
  s.start_timeout_s = 1;
  std::mutex mu;
  std::vector<ReplicaEvent> events;
  {
    ReplicaPool pool("base", "base", s, 1, 1, [&](const ReplicaEvent& e) {
      std::lock_guard<std::mutex> lk(mu);
      events.push_back(e);
    });
    auto count = [&](const std::string& kind) {
      std::lock_guard<std::mutex> lk(mu);
      int n = 0;
      for (const ReplicaEvent& e : events) n += e.kind == kind;
      return n;
    };
    // Started, killed after 1 s, started again after the 2 s back-off, killed again.
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (count("start_timeout") < 2 && std::chrono::steady_clock::now() < give_up)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_GE(count("start_timeout"), 2);
    EXPECT_GE(count("started"), 2);
    EXPECT_EQ(count("ready"), 0);
    const ReplicaPoolInfo info = pool.info();
    for (const ReplicaInfo& r : info.replicas) EXPECT_NE(r.state, "ready");
  }
  std::lock_guard<std::mutex> lk(mu);
  for (const ReplicaEvent& e : events) {
    if (e.kind == "start_timeout") {
      EXPECT_NE(e.message.find("not ready after 1 s"), std::string::npos) << e.message;
    }
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace loam
