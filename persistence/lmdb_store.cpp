#include "persistence/lmdb_store.hpp"

#include <array>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <sys/file.h>
#include <unistd.h>

#include <lmdb.h>

#include "common/log.hpp"

namespace crowdiff::persistence {
namespace {

status lmdb_error(int rc, std::string_view what) {
  errc code = errc::io_error;
  switch (rc) {
    case MDB_INVALID:
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
      code = errc::corruption;
      break;
    case MDB_VERSION_MISMATCH:
      code = errc::unsupported;
      break;
    case MDB_MAP_FULL:
    case MDB_TXN_FULL:
    case MDB_READERS_FULL:
    case MDB_DBS_FULL:
      code = errc::resource_exhausted;
      break;
    case MDB_BAD_VALSIZE:
      code = errc::invalid_argument;
      break;
    case EACCES:
    case EPERM:
      code = errc::permission_denied;
      break;
    default:
      break;
  }
  return status{code, std::string(what) + ": " + mdb_strerror(rc)};
}

MDB_val to_val(std::string_view s) {
  return MDB_val{s.size(), const_cast<char*>(s.data())};
}
std::string_view from_val(const MDB_val& v) {
  return {static_cast<const char*>(v.mv_data), v.mv_size};
}

class lmdb_kv;

// Shared by the read and write transactions: get and scan on an MDB_txn.
class lmdb_reader {
 protected:
  lmdb_reader(lmdb_kv& kv, MDB_txn* txn) : kv_(kv), txn_(txn) {}

  result<std::optional<std::string_view>> get_impl(table t, std::string_view key);
  status scan_impl(table t, std::string_view from, const scan_fn& fn);

  lmdb_kv& kv_;
  MDB_txn* txn_;
};

class lmdb_kv final : public kv_store {
 public:
  lmdb_kv(MDB_env* env, int lock_fd, std::filesystem::path dir)
      : env_(env), lock_fd_(lock_fd), dir_(std::move(dir)) {}
  ~lmdb_kv() override {
    mdb_env_close(env_);
    if (lock_fd_ >= 0) {
      flock(lock_fd_, LOCK_UN);
      close(lock_fd_);
    }
  }

  status open_tables() {
    MDB_txn* txn = nullptr;
    if (int rc = mdb_txn_begin(env_, nullptr, 0, &txn); rc != 0)
      return lmdb_error(rc, "opening tables");
    // Every table, with MDB_CREATE: a store written before a table existed (say `quarantine`) gains it here.
    for (size_t i = 0; i < table_count; ++i) {
      std::string name{table_name(static_cast<table>(i))};
      if (int rc = mdb_dbi_open(txn, name.c_str(), MDB_CREATE, &dbis_[i]); rc != 0) {
        mdb_txn_abort(txn);
        return lmdb_error(rc, "opening table " + name);
      }
    }
    if (int rc = mdb_txn_commit(txn); rc != 0)
      return lmdb_error(rc, "opening tables");
    return status::ok();
  }

  MDB_dbi dbi(table t) const { return dbis_[static_cast<size_t>(t)]; }
  MDB_env* env() const { return env_; }
  std::shared_mutex& grow_mutex() { return grow_mutex_; }
  std::mutex& writer_mutex() { return writer_mutex_; }

  result<std::unique_ptr<read_txn>> begin_read() override;
  result<std::unique_ptr<write_txn>> begin_write() override;

  status grow() override {
    std::unique_lock lock{grow_mutex_};
    MDB_envinfo info;
    mdb_env_info(env_, &info);
    size_t next = info.me_mapsize * 2;
    if (int rc = mdb_env_set_mapsize(env_, next); rc != 0)
      return lmdb_error(rc, "growing the store map");
    return status::ok();
  }

 private:
  MDB_env* env_;
  int lock_fd_;
  std::filesystem::path dir_;
  std::array<MDB_dbi, table_count> dbis_{};
  // Readers and writers hold it shared; growing the map holds it exclusively, because LMDB may only
  // resize while no transaction of this process is open.
  std::shared_mutex grow_mutex_;
  std::mutex writer_mutex_;
};

result<std::optional<std::string_view>> lmdb_reader::get_impl(table t, std::string_view key) {
  MDB_val k = to_val(key);
  MDB_val v;
  int rc = mdb_get(txn_, kv_.dbi(t), &k, &v);
  if (rc == MDB_NOTFOUND)
    return std::optional<std::string_view>{};
  if (rc != 0)
    return lmdb_error(rc, std::string("reading ") + std::string(table_name(t)));
  return std::optional<std::string_view>{from_val(v)};
}

status lmdb_reader::scan_impl(table t, std::string_view from, const scan_fn& fn) {
  MDB_cursor* cursor = nullptr;
  if (int rc = mdb_cursor_open(txn_, kv_.dbi(t), &cursor); rc != 0)
    return lmdb_error(rc, std::string("scanning ") + std::string(table_name(t)));
  MDB_val k = to_val(from);
  MDB_val v;
  int rc = from.empty() ? mdb_cursor_get(cursor, &k, &v, MDB_FIRST)
                        : mdb_cursor_get(cursor, &k, &v, MDB_SET_RANGE);
  while (rc == 0) {
    if (!fn(from_val(k), from_val(v)))
      break;
    rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT);
  }
  mdb_cursor_close(cursor);
  if (rc != 0 && rc != MDB_NOTFOUND)
    return lmdb_error(rc, std::string("scanning ") + std::string(table_name(t)));
  return status::ok();
}

class lmdb_read_txn final : public read_txn, lmdb_reader {
 public:
  lmdb_read_txn(lmdb_kv& kv, MDB_txn* txn, std::shared_lock<std::shared_mutex> lock)
      : lmdb_reader(kv, txn), lock_(std::move(lock)) {}
  ~lmdb_read_txn() override { mdb_txn_abort(txn_); }

  result<std::optional<std::string_view>> get(table t, std::string_view key) override {
    return get_impl(t, key);
  }
  status scan(table t, std::string_view from, const scan_fn& fn) override { return scan_impl(t, from, fn); }

 private:
  std::shared_lock<std::shared_mutex> lock_;
};

class lmdb_write_txn final : public write_txn, lmdb_reader {
 public:
  // Top level: holds the writer and grow locks. Child: shares the root's flag.
  lmdb_write_txn(lmdb_kv& kv, MDB_txn* txn, std::unique_lock<std::mutex> writer,
                 std::shared_lock<std::shared_mutex> grow)
      : lmdb_reader(kv, txn), root_(this), writer_(std::move(writer)), grow_(std::move(grow)) {}
  lmdb_write_txn(lmdb_kv& kv, MDB_txn* txn, lmdb_write_txn* root) : lmdb_reader(kv, txn), root_(root) {}
  ~lmdb_write_txn() override { abort(); }

  result<std::optional<std::string_view>> get(table t, std::string_view key) override {
    return get_impl(t, key);
  }
  status scan(table t, std::string_view from, const scan_fn& fn) override { return scan_impl(t, from, fn); }

  status put(table t, std::string_view key, std::string_view value) override {
    MDB_val k = to_val(key);
    MDB_val v = to_val(value);
    int rc = mdb_put(txn_, kv_.dbi(t), &k, &v, 0);
    if (rc == 0)
      return status::ok();
    note(rc);
    return lmdb_error(rc, std::string("writing ") + std::string(table_name(t)));
  }

  status erase(table t, std::string_view key) override {
    MDB_val k = to_val(key);
    int rc = mdb_del(txn_, kv_.dbi(t), &k, nullptr);
    if (rc == 0 || rc == MDB_NOTFOUND)
      return status::ok();
    note(rc);
    return lmdb_error(rc, std::string("erasing from ") + std::string(table_name(t)));
  }

  result<std::unique_ptr<write_txn>> begin_child() override {
    MDB_txn* child = nullptr;
    if (int rc = mdb_txn_begin(kv_.env(), txn_, 0, &child); rc != 0) {
      note(rc);
      return lmdb_error(rc, "starting a nested transaction");
    }
    return std::unique_ptr<write_txn>{new lmdb_write_txn(kv_, child, root_)};
  }

  status commit() override {
    if (txn_ == nullptr)
      return status{errc::internal, "transaction already finished"};
    int rc = mdb_txn_commit(txn_);
    txn_ = nullptr;
    release();
    if (rc == 0)
      return status::ok();
    note(rc);
    return lmdb_error(rc, "committing");
  }

  void abort() override {
    if (txn_ != nullptr) {
      mdb_txn_abort(txn_);
      txn_ = nullptr;
    }
    release();
  }

  bool map_full() const override { return root_->map_full_; }

 private:
  void note(int rc) {
    if (rc == MDB_MAP_FULL || rc == MDB_TXN_FULL)
      root_->map_full_ = true;
  }
  void release() {
    if (grow_.owns_lock())
      grow_.unlock();
    if (writer_.owns_lock())
      writer_.unlock();
  }

  lmdb_write_txn* root_;
  bool map_full_ = false;
  std::unique_lock<std::mutex> writer_;
  std::shared_lock<std::shared_mutex> grow_;
};

result<std::unique_ptr<read_txn>> lmdb_kv::begin_read() {
  std::shared_lock lock{grow_mutex_};
  MDB_txn* txn = nullptr;
  if (int rc = mdb_txn_begin(env_, nullptr, MDB_RDONLY, &txn); rc != 0)
    return lmdb_error(rc, "starting a read transaction");
  return std::unique_ptr<read_txn>{new lmdb_read_txn(*this, txn, std::move(lock))};
}

result<std::unique_ptr<write_txn>> lmdb_kv::begin_write() {
  std::unique_lock writer{writer_mutex_};
  std::shared_lock grow{grow_mutex_};
  MDB_txn* txn = nullptr;
  if (int rc = mdb_txn_begin(env_, nullptr, 0, &txn); rc != 0)
    return lmdb_error(rc, "starting a write transaction");
  return std::unique_ptr<write_txn>{new lmdb_write_txn(*this, txn, std::move(writer), std::move(grow))};
}

std::string lock_holder(int fd) {
  char buf[32] = {};
  ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
  if (n <= 0)
    return "another process";
  std::string pid{buf, static_cast<size_t>(n)};
  while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' '))
    pid.pop_back();
  return "process " + pid;
}

}  // namespace

result<std::unique_ptr<kv_store>> open_lmdb_store(const lmdb_options& options) {
  namespace fs = std::filesystem;
  const auto& dir = options.directory;
  const std::string where = "store directory '" + dir.string() + "'";
  std::error_code ec;
  auto st = fs::status(dir, ec);
  if (!fs::exists(st)) {
    if (!options.create_if_missing)
      return status{errc::not_found, where + " does not exist"};
    if (!fs::create_directory(dir, ec) && ec)
      return status{errc::io_error, "cannot create " + where + ": " + ec.message()};
    // Balances, API-key digests and images: the owner's only.
    fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace, ec);
  } else if (!fs::is_directory(st)) {
    return status{errc::invalid_argument, where + " is not a directory"};
  }

  // LMDB lets several processes share an environment; crowdiff's core must be the only one, so it holds
  // an exclusive lock on a file of its own for as long as the store is open.
  std::string lock_path = (dir / "crowdiff.lock").string();
  int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    int err = errno;
    return status{err == EACCES ? errc::permission_denied : errc::io_error,
                  "cannot open " + lock_path + ": " + std::strerror(err)};
  }
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    std::string holder = lock_holder(fd);
    close(fd);
    return status{errc::store_locked, where + " is in use by " + holder};
  }
  std::string pid = std::to_string(getpid()) + "\n";
  if (ftruncate(fd, 0) != 0 || pwrite(fd, pid.data(), pid.size(), 0) < 0) {
    // The pid is only a courtesy for the error above; the lock itself is held.
  }

  MDB_env* env = nullptr;
  if (int rc = mdb_env_create(&env); rc != 0) {
    close(fd);
    return lmdb_error(rc, "creating the LMDB environment");
  }
  auto fail = [&](int rc, const std::string& what) -> status {
    mdb_env_close(env);
    flock(fd, LOCK_UN);
    close(fd);
    auto s = lmdb_error(rc, what);
    if (s.code() == errc::corruption)
      return status{errc::corruption,
                    where + " holds a damaged or foreign database (" + mdb_strerror(rc) + ")"};
    return s;
  };
  mdb_env_set_maxdbs(env, static_cast<MDB_dbi>(table_count + 3));
  mdb_env_set_maxreaders(env, 512);
  if (int rc = mdb_env_set_mapsize(env, options.initial_map_bytes); rc != 0)
    return fail(rc, "setting the map size");
  // MDB_NOTLS: read transactions are objects, not per-thread slots, so actors on any thread can read.
  if (int rc = mdb_env_open(env, dir.c_str(), MDB_NOTLS, 0600); rc != 0)
    return fail(rc, "opening " + where);
  // The mode above applies to new files only: a store made by an older version (0644) is tightened too.
  for (const char* name : {"data.mdb", "lock.mdb", "crowdiff.lock"}) {
    fs::permissions(dir / name, fs::perms::owner_read | fs::perms::owner_write, fs::perm_options::replace,
                    ec);
    if (ec)
      log::warning("store_permissions").kv("file", (dir / name).string()).kv("error", ec.message());
  }

  auto kv = std::make_unique<lmdb_kv>(env, fd, dir);
  if (auto s = kv->open_tables(); !s)
    return s.with_context(where);
  return std::unique_ptr<kv_store>{std::move(kv)};
}

}  // namespace crowdiff::persistence
