/**
 * The flags `node` runs the gateway with, on its command line: Node refuses
 * `--single-threaded-gc` in NODE_OPTIONS, and setting it at run time crashes
 * V8; a user's NODE_OPTIONS cannot drop the others. The launcher starts it
 * with them, scripts/images/build.sh reads them from charts/ocireg/topology.yaml,
 * the Dockerfile's gateway target restates them (derived-files.test.ts checks
 * it), and the cluster test checks the image runs with them.
 *
 * - `--max-semi-space-size=4`: the V8 young generation capped at 4 MiB per
 *   semi-space (the default is 16): a push allocates a buffer per socket
 *   read, and the larger young generation only held more of them (peak RSS
 *   of a 2 GiB filesystem push 156 -> 132 MiB, same throughput and manifest
 *   rates).
 * - `--single-threaded-gc`: the collector on the main thread. On a push in
 *   5 MiB PATCHes (containerd's and crane's pattern) V8 ran about 70
 *   incremental marking rounds per GiB, each marking the whole (about 26 MB)
 *   heap on helper threads, which with their synchronisation cost more than
 *   half the gateway's CPU there (5.7 CPU-seconds per GiB against 2.3), at
 *   the same peak memory. Incremental marking and the memory reducer stay on
 *   (`--no-incremental-marking` saved as much CPU but let the gateway grow to
 *   270 MiB during MinIO pushes).
 * - `--expose-gc`: the gateway runs a young-generation collection after
 *   every 8 MiB of request body it consumed, which frees the buffers node:http
 *   gave the body in (services/gateway/src/oci/body-garbage.ts; peak RSS of a
 *   4 GiB MinIO push 180 -> 147 MiB).
 */
export const GATEWAY_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=4', '--single-threaded-gc', '--expose-gc'];

/**
 * The environment the gateway runs with besides its flags (the launcher, the
 * image build and the Dockerfile's gateway target, as for the flags).
 *
 * - `MALLOC_ARENA_MAX=2`: glibc gives threads that allocate (libuv's pool,
 *   V8's compiler threads) arenas of their own, up to 8 per core, and what is
 *   freed in one stays there. The gateway's peak RSS in the benchmark's MinIO
 *   phases went from 141-145 to 127-138 MiB with 2, at the same speeds.
 * - `MALLOC_TRIM_THRESHOLD_=1048576`: glibc returns freed memory at the top
 *   of a heap beyond 1 MiB. By default, once a large buffer (a 5 MiB S3 part)
 *   has been freed, it keeps up to twice that buffer's size of freed memory
 *   per heap (up to 64 MiB), so what manifest load allocated stayed resident.
 *   The gateway's peak RSS during the MinIO pushes went from 144-159 to
 *   129-133 MiB (two runs each), for about 4% more gateway CPU per GiB.
 */
export const GATEWAY_ENV: Readonly<Record<string, string>> = { MALLOC_ARENA_MAX: '2', MALLOC_TRIM_THRESHOLD_: '1048576' };
