from setuptools import find_packages, setup

setup(
    name="flightbook",
    version="0.1.0",
    description="An open flight-booking system: flights, payments and loyalty, one process or four services.",
    python_requires=">=3.11",
    packages=find_packages(include=["flightbook", "flightbook.*"]),
    py_modules=["cli"],
    include_package_data=True,
    package_data={"flightbook.gateway": ["templates/*.html", "static/*"]},
    install_requires=[
        "typer>=0.12",
        "rich>=13",
        "falcon>=4",
        "gunicorn>=22",
        "peewee>=4",
        "peewee-migrate>=2.3",
        "psycopg2-binary>=2.9",
        "stripe>=10",
        "pyjwt>=2.8",
        "requests>=2.31",
        "jinja2>=3.1",
        "airportsdata>=20240101",
        "honcho>=2",
        "orjson>=3.9",
        "pika>=1.3",
    ],
    extras_require={
        "test": [
            "pytest>=8",
            "pytest-xdist>=3",
            "pytest-playwright>=0.5",
            "playwright>=1.45",
            "import-linter>=2",
        ],
    },
    entry_points={"console_scripts": ["flightbook=cli:app"]},
)
