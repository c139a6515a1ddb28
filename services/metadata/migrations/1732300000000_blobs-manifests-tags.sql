-- Up Migration
CREATE TABLE blobs (
  digest text PRIMARY KEY,
  size bigint NOT NULL CHECK (size >= 0),
  storage_key text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- A blob is visible in a repository only once it was pushed (or mounted) there.
CREATE TABLE repository_blobs (
  repository text NOT NULL,
  digest text NOT NULL REFERENCES blobs (digest),
  linked_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (repository, digest)
);

CREATE TABLE manifests (
  repository text NOT NULL,
  digest text NOT NULL,
  media_type text NOT NULL,
  content bytea NOT NULL,
  size bigint NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (repository, digest)
);

-- What a manifest references, so deletion and garbage collection know what is in use.
CREATE TABLE manifest_references (
  repository text NOT NULL,
  manifest_digest text NOT NULL,
  referenced_digest text NOT NULL,
  kind text NOT NULL CHECK (kind IN ('blob', 'manifest')),
  PRIMARY KEY (repository, manifest_digest, referenced_digest),
  FOREIGN KEY (repository, manifest_digest) REFERENCES manifests (repository, digest) ON DELETE CASCADE
);

CREATE TABLE tags (
  repository text NOT NULL,
  name text NOT NULL,
  digest text NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (repository, name),
  FOREIGN KEY (repository, digest) REFERENCES manifests (repository, digest)
);

