// MPI behind train/dist.h: start-up, the watched collectives, abort.
#include "train/dist.h"

// The C API only: the deprecated C++ bindings would need libmpi_cxx.
#define OMPI_SKIP_MPICXX 1
#include <mpi.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "core/error.h"

namespace loam {
namespace {

using clock = std::chrono::steady_clock;

bool g_launched = false;
int g_world = 1, g_rank = 0;
double g_comm_s = 0;
int64_t g_seq = 0;               // collectives so far (the "arrived" messages carry it)
constexpr int kArrivedTag = 7101;

bool env_set(const char* name) {
  const char* v = std::getenv(name);
  return v && *v;
}

std::string ranks_text(const std::vector<int>& ranks) {
  std::string s = ranks.size() == 1 ? "rank " : "ranks ";
  for (size_t i = 0; i < ranks.size(); i++) s += (i ? ", " : "") + std::to_string(ranks[i]);
  return s;
}

// Runs a started non-blocking collective to completion, or throws when it
// has not completed by the deadline, naming the ranks that never arrived.
void collective_wait(MPI_Request req, const std::string& what, double timeout_s) {
  const auto t0 = clock::now();
  const int64_t seq = ++g_seq;
  // The "arrived" messages: rank 0 hears from everyone, everyone from rank 0.
  std::vector<int64_t> in(g_world, -1);
  int64_t out = seq;
  std::vector<MPI_Request> arrivals;
  std::vector<int> arrival_rank;
  if (g_rank == 0) {
    for (int r = 1; r < g_world; r++) {
      MPI_Request s, q;
      MPI_Isend(&out, 1, MPI_INT64_T, r, kArrivedTag, MPI_COMM_WORLD, &s);
      MPI_Irecv(&in[r], 1, MPI_INT64_T, r, kArrivedTag, MPI_COMM_WORLD, &q);
      arrivals.push_back(s);
      arrival_rank.push_back(-1);
      arrivals.push_back(q);
      arrival_rank.push_back(r);
    }
  } else {
    MPI_Request s, q;
    MPI_Isend(&out, 1, MPI_INT64_T, 0, kArrivedTag, MPI_COMM_WORLD, &s);
    MPI_Irecv(&in[0], 1, MPI_INT64_T, 0, kArrivedTag, MPI_COMM_WORLD, &q);
    arrivals = {s, q};
    arrival_rank = {-1, 0};
  }
  // Rank 0 names the missing; the others wait a little longer so that its
  // message, not theirs, is the one the job ends with.
  const double deadline = g_rank == 0 ? timeout_s : timeout_s * 1.1 + 5.0;
  // Done when the collective and the "arrived" messages are: a message a
  // stopped peer posted but never pushed out must not block us either.
  int done = 0, arrived = 0;
  for (int64_t polls = 0;; polls++) {
    if (!done) MPI_Test(&req, &done, MPI_STATUS_IGNORE);
    if (done) MPI_Testall(static_cast<int>(arrivals.size()), arrivals.data(), &arrived, MPI_STATUSES_IGNORE);
    if (done && arrived) break;
    const double waited = std::chrono::duration<double>(clock::now() - t0).count();
    if (waited > deadline) {
      std::vector<int> missing;
      for (size_t i = 0; i < arrivals.size(); i++) {
        if (arrival_rank[i] < 0) continue;
        int got = 0;
        MPI_Test(&arrivals[i], &got, MPI_STATUS_IGNORE);  // a completed request is MPI_REQUEST_NULL: got = 1
        if (!got) missing.push_back(arrival_rank[i]);
      }
      char secs[32];
      std::snprintf(secs, sizeof secs, "%.0f s", deadline);
      const std::string where = "rank " + std::to_string(g_rank);
      if (!missing.empty())
        throw Error(ErrorKind::Unavailable, where,
                    ranks_text(missing) + " did not reach " + what + " within " + secs + " (hung, or stopped)",
                    "the job is ended; resume it from its last checkpoint (LOAM_DIST_TIMEOUT sets the deadline)");
      throw Error(ErrorKind::Unavailable, where,
                  what + " did not complete within " + std::string(secs) + "; rank 0 arrived, another rank did not",
                  "the job is ended; resume it from its last checkpoint (LOAM_DIST_TIMEOUT sets the deadline)");
    }
    // MPI moves data only inside these calls (no progress thread), so poll
    // without pause (yielding) for the first 2 s: a large collective is
    // many segments, each needing a call (a 1 ms pause after 100 ms made
    // 78 MB take 420 ms instead of ~100). Past 2 s the wait is for another
    // rank, not for bytes: poll every millisecond.
    if (waited < 2.0) std::this_thread::yield();
    else std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  g_comm_s += std::chrono::duration<double>(clock::now() - t0).count();
}

void allreduce(void* data, int64_t n, MPI_Datatype type, const std::string& what) {
  if (g_world <= 1 || n == 0) return;
  if (n > (int64_t{1} << 30)) throw Error(ErrorKind::Internal, what, "more than 2^30 values in one all-reduce");
  // In pieces of at most 2^22 values (16 MB of fp32): OpenMPI's non-blocking
  // all-reduce of one 78 MB buffer took 390 ms over loopback here, five
  // pieces 49 ms in all (its blocking one: 218 ms).
  constexpr int64_t kPiece = int64_t{1} << 22;
  int size = 0;
  MPI_Type_size(type, &size);
  for (int64_t at = 0; at < n; at += kPiece) {
    MPI_Request req;
    MPI_Iallreduce(MPI_IN_PLACE, static_cast<char*>(data) + at * size, static_cast<int>(std::min(kPiece, n - at)), type,
                   MPI_SUM, MPI_COMM_WORLD, &req);
    collective_wait(req, what, dist_timeout_s());
  }
}

}  // namespace

void dist_init_if_launched(int* argc, char*** argv) {
  if (!env_set("OMPI_COMM_WORLD_SIZE") && !env_set("PMIX_RANK")) return;
  int provided = 0;
  MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided);
  MPI_Comm_size(MPI_COMM_WORLD, &g_world);
  MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
  g_launched = true;
}

void dist_finalize() {
  if (!g_launched) return;
  g_launched = false;
  MPI_Finalize();
}

void dist_abort(const std::string& message, int code) {
  std::fflush(stdout);
  if (!g_launched) {
    std::fprintf(stderr, "%s\n", message.c_str());
    return;
  }
  std::fprintf(stderr, "rank %d of %d: %s\n", g_rank, g_world, message.c_str());
  std::fflush(stderr);
  MPI_Abort(MPI_COMM_WORLD, code);
}

bool dist_launched() { return g_launched; }
int dist_world_size() { return g_world; }
int dist_rank() { return g_rank; }

void dist_allreduce_sum(float* data, int64_t n, const std::string& what) { allreduce(data, n, MPI_FLOAT, what); }
void dist_allreduce_sum(double* data, int64_t n, const std::string& what) { allreduce(data, n, MPI_DOUBLE, what); }

void dist_broadcast(std::string& bytes, const std::string& what, bool setup) {
  if (g_world <= 1) return;
  const double timeout = dist_timeout_s() * (setup ? 10.0 : 1.0);
  int64_t size = static_cast<int64_t>(bytes.size());
  MPI_Request req;
  MPI_Ibcast(&size, 1, MPI_INT64_T, 0, MPI_COMM_WORLD, &req);
  collective_wait(req, what, timeout);
  if (g_rank != 0) bytes.assign(static_cast<size_t>(size), '\0');
  constexpr int64_t kChunk = int64_t{1} << 30;
  for (int64_t off = 0; off < size; off += kChunk) {
    const int n = static_cast<int>(std::min(kChunk, size - off));
    MPI_Ibcast(bytes.data() + off, n, MPI_BYTE, 0, MPI_COMM_WORLD, &req);
    collective_wait(req, what, timeout);
  }
}

double dist_comm_seconds() { return g_comm_s; }

double dist_timeout_s() {
  const char* v = std::getenv("LOAM_DIST_TIMEOUT");
  if (!v || !*v) return 600.0;
  char* end = nullptr;
  const double s = std::strtod(v, &end);
  if (end == v || *end || !(s > 0))
    throw Error("LOAM_DIST_TIMEOUT", std::string("must be a number of seconds > 0, not \"") + v + "\"");
  return s;
}

int dist_threads_default() {
  if (!g_launched) return 0;
  cpu_set_t set;
  CPU_ZERO(&set);
  int mine = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : 1;
  const long online = sysconf(_SC_NPROCESSORS_ONLN);
  const char* local = std::getenv("OMPI_COMM_WORLD_LOCAL_SIZE");
  const int n_local = local ? std::atoi(local) : 1;
  // Unbound (every core is ours): share the host's cores with its other ranks.
  if (n_local > 1 && online > 0 && mine >= online) mine = static_cast<int>(online) / n_local;
  return mine > 0 ? mine : 1;
}

}  // namespace loam
