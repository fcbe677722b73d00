#!/usr/bin/env bash
# The GPU check of the CUDA backend, sized for a short loan of a GPU machine (about 8 minutes on an H100):
# prints the card, runs the CUDA tests (kernels/cuda against the reference backend; the models' UNet step and
# a short job on the CUDA backend against the CPU backend) and the GPU benchmark (benchmarks/gpu_throughput:
# our kernels and UNet step against PyTorch + diffusers on the same card), and writes the log and the
# benchmark's JSON line under $OUT when that is set.
#
#   scripts/gpu-check.sh --prepare   on a development machine (no GPU needed): builds the programs for
#                                    sm_80..sm_90 into build-gpu/bundle with the libraries they need that a
#                                    GPU machine may lack (Boost.Test), plus the diffusers wheel. Carry
#                                    build-gpu/bundle to the GPU machine.
#   scripts/gpu-check.sh             on the GPU machine: uses build-gpu/bundle when it is there, else
#                                    configures and builds (-j16, CUDA on), which needs this project's build
#                                    dependencies (scripts/install-deps.sh).
#
# Environment: CROWDIFF_GPU_BUNDLE (default build-gpu/bundle), PYTHON (default python3, the one with torch),
# OUT (where the log and results go).
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
bundle=${CROWDIFF_GPU_BUNDLE:-$root/build-gpu/bundle}
python=${PYTHON:-python3}
diffusers_version=0.42.1

prepare() {
  set -e
  cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release -DCROWDIFF_CUDA=ON \
    -DCMAKE_CUDA_ARCHITECTURES="80;86;89;90"
  cmake --build build-gpu -j"$(nproc)" --target test_kernels_cuda test_kernels_cuda_emulated test_models_cuda \
    gpu_throughput
  rm -rf "$bundle"
  mkdir -p "$bundle/bin" "$bundle/lib" "$bundle/wheels"
  cp build-gpu/tests/kernels/cuda/test_kernels_cuda build-gpu/tests/kernels/cuda/test_kernels_cuda_emulated \
    build-gpu/tests/models/cuda/test_models_cuda build-gpu/benchmarks/gpu_throughput/gpu_throughput "$bundle/bin/"
  strip "$bundle"/bin/*
  cp benchmarks/gpu_throughput/baseline.py "$bundle/"
  # Libraries a GPU machine's image may not have: everything but the C/C++ runtime and CUDA's own.
  for binary in "$bundle"/bin/*; do
    ldd "$binary" | awk '/=> \// {print $3}' | while read -r lib; do
      case "$(basename "$lib")" in
        libc.so* | libm.so* | libstdc++* | libgcc_s* | libpthread* | libdl.so* | librt.so* | ld-linux*) ;;
        libcuda.so* | libcublas* | libcudnn* | libcudart*) ;;
        *) cp -L "$lib" "$bundle/lib/" ;;
      esac
    done
  done
  "$python" -m pip download -q --no-deps -d "$bundle/wheels" "diffusers==$diffusers_version" importlib_metadata
  echo "bundle ready: $bundle ($(du -sh "$bundle" | cut -f1)); carry it to the GPU machine"
}

if [ "${1:-}" = "--prepare" ]; then
  prepare
  exit $?
fi

out=${OUT:-}
log=/tmp/crowdiff-gpu-check.log
[ -n "$out" ] && log="$out/gpu-check.log"
exec > >(tee "$log") 2>&1
started=$(date +%s)
echo "== card"
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv || echo "nvidia-smi failed"

if [ -x "$bundle/bin/test_kernels_cuda" ]; then
  bin=$bundle/bin
  script=$bundle/baseline.py
  export LD_LIBRARY_PATH="$bundle/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  echo "== using the prebuilt bundle $bundle"
else
  echo "== building (no bundle at $bundle)"
  cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release -DCROWDIFF_CUDA=ON || exit 1
  cmake --build build-gpu -j16 --target test_kernels_cuda test_kernels_cuda_emulated test_models_cuda \
    gpu_throughput || exit 1
  bin=$root/build-gpu/bin-links
  mkdir -p "$bin"
  ln -sf "$root/build-gpu/tests/kernels/cuda/test_kernels_cuda" "$root/build-gpu/tests/kernels/cuda/test_kernels_cuda_emulated" \
    "$root/build-gpu/tests/models/cuda/test_models_cuda" "$root/build-gpu/benchmarks/gpu_throughput/gpu_throughput" \
    "$bin/"
  script=$root/benchmarks/gpu_throughput/baseline.py
fi

# cuBLASLt and cuDNN: the CUDA toolkit's, else the ones PyTorch's wheels brought.
cuda_libs=""
for dir in /usr/local/cuda/lib64 /usr/local/cuda/lib; do
  [ -d "$dir" ] && cuda_libs="$cuda_libs:$dir"
done
for site in $("$python" -c 'import site; print(" ".join(site.getsitepackages()))' 2>/dev/null); do
  for dir in "$site"/nvidia/*/lib; do
    [ -d "$dir" ] && cuda_libs="$cuda_libs:$dir"
  done
done
export LD_LIBRARY_PATH="${LD_LIBRARY_PATH:-}$cuda_libs"

# diffusers for the baseline: installed already, or from the bundle's wheels.
if ! "$python" -c 'import diffusers' 2>/dev/null; then
  if ls "$bundle"/wheels/*.whl >/dev/null 2>&1; then
    "$python" -m pip install -q --no-index --no-deps --no-compile --target /tmp/crowdiff-site "$bundle"/wheels/*.whl &&
      export PYTHONPATH="/tmp/crowdiff-site${PYTHONPATH:+:$PYTHONPATH}"
  else
    echo "note: no diffusers and no wheel of it: the baseline measures attention only"
  fi
fi

failed=0
echo "== emulated kernels (host)"
timeout 120 "$bin/test_kernels_cuda_emulated" --log_level=warning --report_level=short || failed=1
echo "== CUDA tests"
timeout 300 "$bin/test_kernels_cuda" --log_level=warning --report_level=detailed || failed=1
echo "== models on the CUDA backend"
# The tiny fixture models of this checkout (a bundle was built elsewhere).
CROWDIFF_FIXTURES_DIR="$root/tests/fixtures" timeout 180 "$bin/test_models_cuda" --log_level=message \
  --report_level=detailed || failed=1
echo "== GPU benchmark"
bench_log=/tmp/crowdiff-gpu-bench.txt
timeout 420 "$bin/gpu_throughput" --python "$python" --baseline-script "$script" | tee "$bench_log" || failed=1
if [ -n "$out" ]; then
  tail -n 1 "$bench_log" > "$out/gpu_throughput.json"
  cp "$bench_log" "$out/gpu_throughput.txt"
fi
echo "== done in $(( $(date +%s) - started )) s; tests and benchmark $([ $failed = 0 ] && echo passed || echo FAILED)"
exit $failed
