#!/usr/bin/env bash
# Regenerate every proto/*.proto into tracker/_proto/ (<name>_pb2.py + <name>_pb2.pyi). The generated files are
# committed; run this after editing a .proto file:   ci/gen_proto.sh
#
# Compiler: grpcio-tools' bundled protoc from .venv (`pip install grpcio-tools==1.85.1`, a dev-only tool, not a
# runtime dependency). It is libprotoc 35.1 and stamps the gencode "Protobuf Python Version: 7.35.1"; the
# generated modules call google.protobuf.runtime_version.ValidateProtobufRuntimeVersion(7, 35, 1), which passes
# with the pinned runtime protobuf==7.36.2 (same major, runtime not older than the gencode). The script imports
# every generated module afterwards, so a compiler newer than the runtime (which would fail that check) is
# caught here rather than at tracker start-up; in that case install a grpcio-tools whose protoc is not newer
# than the runtime, or point PROTOC at a matching protoc binary (e.g. PROTOC=/usr/bin/protoc, Debian's
# protobuf-compiler), which is used instead when set.
#
# protoc writes `import foo_pb2` for a `import "foo.proto";` between our files; that only works with
# tracker/_proto on sys.path, so those lines are rewritten to `from tracker._proto import foo_pb2`.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-.venv/bin/python}
OUT_DIR=tracker/_proto
shopt -s nullglob
PROTO_FILES=(proto/*.proto)
if [ ${#PROTO_FILES[@]} -eq 0 ]; then
  echo "gen_proto: no proto/*.proto files" >&2
  exit 1
fi

mkdir -p "$OUT_DIR"
rm -f "$OUT_DIR"/*_pb2.py "$OUT_DIR"/*_pb2.pyi

if [ -n "${PROTOC:-}" ]; then
  "$PROTOC" -Iproto --python_out="$OUT_DIR" --pyi_out="$OUT_DIR" "${PROTO_FILES[@]}"
else
  "$PYTHON" -m grpc_tools.protoc -Iproto --python_out="$OUT_DIR" --pyi_out="$OUT_DIR" "${PROTO_FILES[@]}"
fi

for generated in "$OUT_DIR"/*_pb2.py "$OUT_DIR"/*_pb2.pyi; do
  sed -i -E 's/^import ([A-Za-z0-9_]+_pb2) as /from tracker._proto import \1 as /' "$generated"
done

# Fail now if the generated code does not load with the installed protobuf runtime.
for generated in "$OUT_DIR"/*_pb2.py; do
  module=$(basename "$generated" .py)
  "$PYTHON" -c "import tracker._proto.${module}" || {
    echo "gen_proto: tracker._proto.${module} does not import with the installed protobuf runtime" >&2
    exit 1
  }
done
echo "gen_proto: generated ${#PROTO_FILES[@]} file(s) into $OUT_DIR"
