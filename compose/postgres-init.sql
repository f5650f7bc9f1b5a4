-- Run once by the postgres image on its first start: one database per module.
CREATE DATABASE flights_db;
CREATE DATABASE payments_db;
CREATE DATABASE loyalty_db;
