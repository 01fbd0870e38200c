def build_table(n):
    return {f"key-{i}": i * i for i in range(n)}
