from persona_arena.cli import main

main()
