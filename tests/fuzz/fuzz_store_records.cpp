// Stored records as recovery reads them: any bytes decode into a record or give an error, for every record
// type the store keeps.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "crowdiff/v1/job.pb.h"
#include "crowdiff/v1/ledger.pb.h"
#include "crowdiff/v1/result.pb.h"
#include "crowdiff/v1/user.pb.h"
#include "crowdiff/v1/worker.pb.h"
#include "persistence/record_codec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace crowdiff;
  using persistence::table;
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  v1::JobRecord job;
  (void)persistence::decode_record(bytes, job, table::jobs);
  v1::UserRecord user;
  (void)persistence::decode_record(bytes, user, table::users);
  v1::WorkerRecord worker;
  (void)persistence::decode_record(bytes, worker, table::workers);
  v1::LedgerEntry entry;
  (void)persistence::decode_record(bytes, entry, table::journal);
  v1::Balance balance;
  (void)persistence::decode_record(bytes, balance, table::balances);
  v1::GenerationResult result;
  (void)persistence::decode_record(bytes, result, table::results);
  return 0;
}
