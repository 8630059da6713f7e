"""Local GGUF models run with llama.cpp, exposed to litellm as the custom provider `local`."""
