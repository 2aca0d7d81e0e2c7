"""`python -m microgrid.exercises`: the exercises in the course's order, with what each one asks;
with `--notebooks DIR`, one exercise notebook per lesson written into DIR."""

import argparse

from microgrid import exercises
from microgrid.exercises import notebooks

if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m microgrid.exercises", description=__doc__)
    parser.add_argument("--notebooks", metavar="DIR", help="write one exercise notebook per lesson into DIR")
    arguments = parser.parse_args()
    if arguments.notebooks:
        for path in notebooks.write(arguments.notebooks, [*exercises.EXERCISES.values()]):
            print(path)
    else:
        for name in exercises.list():
            print(exercises.describe(name))
