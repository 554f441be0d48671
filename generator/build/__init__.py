"""Build: the site's files → the output folder, with the least work and no half state.

stamps        what a build depends on (input stamp, folder signatures, environment keys)
cache         what a build keeps between runs (restricted pickles), per department
output        the standby copy, new inodes, the atomic writer, the output's own guards
sitefolder    the output folder as a file-system object: mount points, exchange, lock, removal
search_lanes  search bundles indexed beside the workers
shards        departments built in worker processes, every-form pages from their summaries
run           ``perfsite build``: up to date? build, swap, remember
"""
