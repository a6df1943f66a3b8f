# Conveniences over ./dev, which is what the README and CI use (make is not on every fresh machine).
.PHONY: demo test bench
demo:
	./dev demo
test:
	./dev test
bench:
	./dev bench
