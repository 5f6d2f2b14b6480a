from . import bench_hit
