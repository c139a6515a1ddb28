// Writes container images as an OCI image layout (plus docker save's manifest.json) (https://github.com/opencontainers/image-spec/blob/main/image-layout.md)
// from layers that are already tarred and gzipped, without any image builder or daemon.
// Input (stdin, JSON): { layout: dir, created: RFC 3339, images: [{ names: [ref...], layers: [{ path, diffId }], config: {...} }] }
// The layout's index.json lists one manifest per name, annotated with the name
// (io.containerd.image.name, org.opencontainers.image.ref.name), which is how
// `ctr images import`, `docker load` and `skopeo copy oci:` find them.
// Prints one line per image: "<name> <manifest digest>". Same input, same bytes.
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, linkSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const spec = JSON.parse(readFileSync(0, 'utf8'));
const blobs = path.join(spec.layout, 'blobs', 'sha256');
mkdirSync(blobs, { recursive: true });

const sha256 = (data) => createHash('sha256').update(data).digest('hex');

function fileDigest(file) {
  const cached = `${file}.sha256`;
  if (existsSync(cached) && statSync(cached).mtimeMs >= statSync(file).mtimeMs) return readFileSync(cached, 'utf8').trim();
  const hex = sha256(readFileSync(file));
  writeFileSync(cached, `${hex}\n`);
  return hex;
}

function putFile(file) {
  const hex = fileDigest(file);
  const target = path.join(blobs, hex);
  if (!existsSync(target)) {
    try {
      linkSync(file, target);
    } catch {
      copyFileSync(file, target);
    }
  }
  return { digest: `sha256:${hex}`, size: statSync(target).size };
}

function putJson(value) {
  const bytes = Buffer.from(JSON.stringify(value));
  const hex = sha256(bytes);
  writeFileSync(path.join(blobs, hex), bytes);
  return { digest: `sha256:${hex}`, size: bytes.length };
}

const manifests = [];
// manifest.json: the same images in `docker save` form, for Docker engines older than 25 whose
// `docker load` reads no OCI index.
const dockerArchive = [];
for (const image of spec.images) {
  const layers = image.layers.map((layer) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...putFile(layer.path) }));
  const config = putJson({
    created: spec.created,
    architecture: 'amd64',
    os: 'linux',
    config: image.config,
    rootfs: { type: 'layers', diff_ids: image.layers.map((layer) => layer.diffId) },
    history: image.layers.map((layer) => ({ created: spec.created, created_by: layer.createdBy ?? 'scripts/images/build.sh' })),
  });
  const manifest = putJson({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
    layers,
    ...(image.annotations ? { annotations: image.annotations } : {}),
  });
  dockerArchive.push({
    Config: `blobs/sha256/${config.digest.slice(7)}`,
    RepoTags: image.names.map((name) => name.replace(/^docker\.io\/library\//, '')),
    Layers: layers.map((layer) => `blobs/sha256/${layer.digest.slice(7)}`),
  });
  for (const name of image.names) {
    manifests.push({
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      ...manifest,
      platform: { architecture: 'amd64', os: 'linux' },
      annotations: { 'io.containerd.image.name': name, 'org.opencontainers.image.ref.name': name },
    });
    console.log(`${name} ${manifest.digest}`);
  }
}
writeFileSync(path.join(spec.layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
writeFileSync(path.join(spec.layout, 'manifest.json'), JSON.stringify(dockerArchive));
writeFileSync(path.join(spec.layout, 'index.json'), JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests }));

// Blobs no manifest refers to any more (an earlier build's) go away.
if (spec.prune) {
  const keep = new Set();
  for (const m of manifests) {
    keep.add(m.digest.slice(7));
    const body = JSON.parse(readFileSync(path.join(blobs, m.digest.slice(7)), 'utf8'));
    keep.add(body.config.digest.slice(7));
    for (const l of body.layers) keep.add(l.digest.slice(7));
  }
  for (const hex of readdirSync(blobs)) if (!keep.has(hex)) rmSync(path.join(blobs, hex));
}
