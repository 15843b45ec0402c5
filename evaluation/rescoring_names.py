"""The names of the re-scoring methods (``sicot report --rescore NAME``), in the order
they run.

One place for them, apart from evaluation/rescoring.py (which maps each name to its
method) so that the command line can offer them as choices without importing
TensorFlow; evaluation/rescoring_names_test.py checks that the two agree, and
cli/main_test.py that the command line offers exactly these.
"""

POSTHOC = "posthoc"
TAU_NORM = "tau_norm"
NCM = "ncm"
CRT = "crt"
TITLE_NCM = "title_ncm"
NCM_TITLE = "ncm_title"
CRT_MIXED = "crt_mixed"

RESCORING_NAMES = (POSTHOC, TAU_NORM, NCM, CRT, TITLE_NCM, NCM_TITLE, CRT_MIXED)
