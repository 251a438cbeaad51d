"""A chat bot that answers questions about its corpus only from cited passages."""
import os

# llama.cpp and the embedding engine both use OpenMP; spin-waiting threads make two such
# workloads on 2 cores slow each other down 30-50x. Must be set before either library loads.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
