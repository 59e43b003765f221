"""Protobuf wire types generated from proto/*.proto by ci/gen_proto.sh (do not edit the *_pb2 files by hand)."""
