import os
import sys

# exercise_solutions.py, the reference and wrong solutions, sits beside the tests that import it.
sys.path.insert(0, os.path.dirname(__file__))
