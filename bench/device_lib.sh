# Sourced by the kernel benches' device_run.sh (device machine): shared setup and SASS helpers.

# Sets $out (= $OUT, made), the CUDA library path and a kernel cache in /tmp; logs the GPU's clocks.
device_setup() {
  out="${OUT:-/tmp/out}"
  mkdir -p "$out"
  export LD_LIBRARY_PATH=/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}
  export KILN_CACHE_DIR=/tmp/kiln-cache
  nvidia-smi --query-gpu=name,clocks.sm,clocks.max.sm,clocks.mem,temperature.gpu,power.draw --format=csv |
    tee "$out/gpu.txt"
}

# SASS of one kernel cache entry (jit/disk_cache: a 32-byte header, the key, then the cubin) on stdout.
entry_sass() {
  python3 -c "import sys,struct; d=open(sys.argv[1],'rb').read(); m=struct.unpack_from('<I',d,12)[0]; open('/tmp/k.cubin','wb').write(d[32+m:])" "$1" &&
    cuobjdump -sass /tmp/k.cubin 2>&1
}
