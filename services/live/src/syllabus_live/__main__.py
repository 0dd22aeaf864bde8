from syllabus_live.main import main

raise SystemExit(main())
