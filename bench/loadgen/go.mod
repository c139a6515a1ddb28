module ocireg.local/bench/loadgen

go 1.24
