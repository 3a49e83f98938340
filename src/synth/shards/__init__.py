"""Arrow shards, the manifest, and the files `datasets.load_from_disk` reads."""

from synth.shards.writer import ShardInfo, ShardWriter, write_dataset_files

__all__ = ["ShardInfo", "ShardWriter", "write_dataset_files"]
