"""Kela: attendance reports, the monthly municipal billing list and eTotu notices (X-Road SOAP)."""
