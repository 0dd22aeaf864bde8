from syllabus_assessment.main import SERVICE

if __name__ == "__main__":
    raise SystemExit(SERVICE.main())
