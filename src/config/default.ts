// The config a node runs with when given none: no API key needed, the usual local OpenAI-compatible servers.
export const DEFAULT_CONFIG_YAML = `# Embedded default: llama.cpp (8080), vLLM (8000) and Ollama (11434), whichever answers; the client's model name is passed through.
chains:
  default:
    - provider: local
      name: llama.cpp
      model: "*"
      url: http://127.0.0.1:8080/v1
      timeouts: { connect_ms: 1000 }
    - provider: local
      name: vllm
      model: "*"
      url: http://127.0.0.1:8000/v1
      timeouts: { connect_ms: 1000 }
    - provider: local
      name: ollama
      model: "*"
      url: http://127.0.0.1:11434/v1
      timeouts: { connect_ms: 1000 }
`;
