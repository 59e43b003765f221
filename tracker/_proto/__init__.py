"""Protobuf wire types generated from proto/*.proto by ci/gen_proto.sh (never edit the *_pb2 files by
hand; edit the .proto file and rerun the script)."""
