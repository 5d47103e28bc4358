// Node-API glue: unpacks a call's arguments (typed arrays are used in place, zero-copy) and turns
// C++ exceptions into JavaScript errors. Every exported kernel has the signature of `Kernel`.
#pragma once
#include <node_api.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace clue {

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class Args {
 public:
  Args(napi_env env, napi_callback_info info) : env_(env), argv_(kTypical) {
    // napi_get_cb_info reports the real count but fills at most the buffer's size: ask again
    // with room for all of them (addN takes one array per summand).
    size_t argc = argv_.size();
    if (napi_get_cb_info(env, info, &argc, argv_.data(), nullptr, nullptr) != napi_ok) throw Error("bad call");
    if (argc > argv_.size()) {
      argv_.resize(argc);
      if (napi_get_cb_info(env, info, &argc, argv_.data(), nullptr, nullptr) != napi_ok) throw Error("bad call");
    }
    argv_.resize(argc);
  }
  size_t count() const { return argv_.size(); }

  bool isNull(size_t i) const {
    napi_valuetype t;
    napi_typeof(env_, at(i), &t);
    return t == napi_null || t == napi_undefined;
  }
  float* f32(size_t i, size_t minLength = 0) const { return array<float>(i, napi_float32_array, "Float32Array", minLength); }
  int32_t* i32(size_t i, size_t minLength = 0) const { return array<int32_t>(i, napi_int32_array, "Int32Array", minLength); }
  uint8_t* u8(size_t i, size_t minLength = 0) const { return array<uint8_t>(i, napi_uint8_array, "Uint8Array", minLength); }
  /** Any typed array as raw bytes, with its element count and type. */
  void* raw(size_t i, size_t* length, napi_typedarray_type* type) const {
    void* data;
    napi_value buffer;
    size_t offset;
    if (napi_get_typedarray_info(env_, at(i), type, length, &data, &buffer, &offset) != napi_ok) {
      throw Error("argument " + std::to_string(i) + " must be a typed array");
    }
    return data;
  }
  size_t length(size_t i) const {
    size_t n;
    napi_typedarray_type t;
    raw(i, &n, &t);
    return n;
  }
  int64_t integer(size_t i) const {
    int64_t v;
    if (napi_get_value_int64(env_, at(i), &v) != napi_ok) throw Error("argument " + std::to_string(i) + " must be a number");
    return v;
  }
  double number(size_t i) const {
    double v;
    if (napi_get_value_double(env_, at(i), &v) != napi_ok) throw Error("argument " + std::to_string(i) + " must be a number");
    return v;
  }
  /** An Int32Array of small parameters (shapes, strides) as int64. */
  std::vector<int64_t> ints(size_t i) const {
    size_t n;
    napi_typedarray_type t;
    void* p = raw(i, &n, &t);
    if (t != napi_int32_array) throw Error("argument " + std::to_string(i) + " must be an Int32Array");
    const int32_t* q = static_cast<const int32_t*>(p);
    return std::vector<int64_t>(q, q + n);
  }

 private:
  static constexpr size_t kTypical = 24;
  napi_value at(size_t i) const {
    if (i >= argv_.size()) throw Error("missing argument " + std::to_string(i));
    return argv_[i];
  }
  template <class T>
  T* array(size_t i, napi_typedarray_type want, const char* name, size_t minLength) const {
    size_t n;
    napi_typedarray_type t;
    void* p = raw(i, &n, &t);
    if (t != want) throw Error("argument " + std::to_string(i) + " must be a " + name);
    if (n < minLength) {
      throw Error("argument " + std::to_string(i) + " holds " + std::to_string(n) + " elements, needs " + std::to_string(minLength));
    }
    return static_cast<T*>(p);
  }
  napi_env env_;
  std::vector<napi_value> argv_;
};

using Kernel = void (*)(const Args&);

/** Wraps a kernel as a Node-API callback returning undefined. */
template <Kernel K>
napi_value entry(napi_env env, napi_callback_info info) {
  try {
    Args args(env, info);
    K(args);
  } catch (const std::exception& e) {
    napi_throw_error(env, "CLUELAB_NATIVE", e.what());
  }
  return nullptr;
}

}  // namespace clue
