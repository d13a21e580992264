// Whether the client of a request is still connected. cpp-httplib 0.11
// gives handlers no socket, so the probe finds the connection's socket by
// its two addresses (local port, peer address and port) among the process's
// descriptors, and then asks the kernel: a peer that closed (or reset) its
// end reads as EOF or an error; data waiting (a pipelined request) is not a
// close. A probe that finds no socket says the client is there.
// Owned by one handler thread; valid while that handler runs (the socket
// belongs to the connection until the handler returns).
#pragma once

#include <string>

namespace httplib {
struct Request;
}

namespace loam {

class ClientProbe {
 public:
  explicit ClientProbe(const httplib::Request& req);
  bool gone() const;

 private:
  int fd_ = -1;
};

}  // namespace loam
