// Data-parallel tuning's one seam to MPI: the ranks of a job started by
// `mpirun`, and the few collectives the trainer needs (a sum over ranks, a
// broadcast from rank 0). Nothing else in Loam includes <mpi.h>.
//
// Without mpirun nothing here touches MPI: the world is one process, rank 0,
// and every collective is a no-op. Under mpirun (OMPI_COMM_WORLD_SIZE or
// PMIX_RANK in the environment) dist_init_if_launched starts MPI once.
//
// Hangs: every collective has a deadline (LOAM_DIST_TIMEOUT seconds, default
// 600; set-up broadcasts, which wait for rank 0 to read and tokenize the
// data, 10x that). Before a collective each rank posts a small "arrived"
// message (to rank 0; rank 0 to everyone), so a rank that times out can name
// who never arrived. A timeout throws Error (Unavailable) naming the ranks;
// the boundary that catches it calls dist_abort, which ends every rank. A
// rank that dies is noticed by mpirun itself, which ends the job and names it.
//
// Thread: call everything from the thread that called dist_init_if_launched.
#pragma once

#include <cstdint>
#include <string>

namespace loam {

// Starts MPI when launched by mpirun; a no-op otherwise. Call once, first.
void dist_init_if_launched(int* argc, char*** argv);
// Ends MPI cleanly (every rank must call it); a no-op without MPI.
void dist_finalize();
// Ends every rank of the job now, after printing `message` (prefixed with
// this rank) to stderr. Without MPI it only prints. Called by boundaries
// (main, the job worker), never by library code.
void dist_abort(const std::string& message, int code);

bool dist_launched();   // true under mpirun (even with -np 1)
int dist_world_size();  // ranks in the job; 1 without mpirun
int dist_rank();        // this process's rank; 0 without mpirun

// Sums `n` values over all ranks in place (every rank gets the same bits).
// `what` names the collective in a timeout's message ("the gradient
// all-reduce at step 12"). Throws Error (Unavailable) on a timeout.
void dist_allreduce_sum(float* data, int64_t n, const std::string& what);
void dist_allreduce_sum(double* data, int64_t n, const std::string& what);

// Rank 0's `bytes` replace every other rank's. `setup`: a broadcast that
// waits for rank 0's preparation (data, reference log-probs): 10x the
// deadline. Throws Error (Unavailable) on a timeout.
void dist_broadcast(std::string& bytes, const std::string& what, bool setup = false);

// Seconds this process has spent inside collectives (waiting included).
double dist_comm_seconds();

// The deadline of a collective, seconds (LOAM_DIST_TIMEOUT, default 600).
double dist_timeout_s();

// Kernel threads for this rank when none are configured: the cores it may
// run on, shared evenly with the other ranks on its host when mpirun did not
// bind it (--oversubscribe, --bind-to none). 0 (the kernels' default: every
// available core) without mpirun.
int dist_threads_default();

}  // namespace loam
